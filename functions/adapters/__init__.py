"""Adapters that implement the domain ports on AWS services."""
