"""Personal data protection: detection and masking of personal data in free text."""
