"""联 link meets the activities: an activity uses resources and a space, fulfils needs, and those who came rate it."""
