"""The course's nbgrader configuration and its sandboxed grading engine."""
