"""The Neutron v2.0 subset served under ``/v2.0``, over the same network service as ``nets``."""
