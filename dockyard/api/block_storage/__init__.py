"""The block-storage (Cinder) v3 subset served under ``/volume``, over the volume driver."""
