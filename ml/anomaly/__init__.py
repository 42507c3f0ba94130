"""Streaming anomaly detection on metric series, scored with the Numenta Anomaly Benchmark."""
