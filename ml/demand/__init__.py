"""Ticket demand forecasting: daily and hourly volume with prediction intervals."""
