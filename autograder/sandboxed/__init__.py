"""Everything that runs inside the grading sandbox, beside the student's code.

This folder is the trust boundary made visible: its files are bound read-only into the sandbox
(see autograder/sandbox.py) and may import only the standard library, each other (the plain-data
channel) and convlib. Nothing here may import the trusted grader (autograder/*.py), and nothing
here decides a grade: it runs cells, answers calls, and keeps no secret.
"""
