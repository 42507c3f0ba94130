"""The local stack: moto, the Chalice app, queue pollers and schedules on one machine."""
