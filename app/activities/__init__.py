"""What the app puts in the timeline: its REST_APP activities, configurable activities and templates."""
