"""The chatter demo: users in groups write comments that notify the other members."""
