"""An empty program: measures a tool's start-up and shut-down."""
