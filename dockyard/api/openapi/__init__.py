"""The OpenAPI 3.1 document of the API, generated from the route tables and schemas."""
