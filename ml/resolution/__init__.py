"""Resolution time and SLA breach prediction for a ticket at the moment it is opened."""

MODEL_NAME = "resolution"
MODEL_FILE = "model.joblib"
