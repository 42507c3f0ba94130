"""Approval decision model: probability that a person approves an access request."""
