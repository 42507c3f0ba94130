"""Sentiment of service desk messages (Korean, English and mixed): negative, neutral or positive."""
