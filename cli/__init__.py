"""The `servicedesk` command-line tool: replays, scoring, training and evaluation."""
