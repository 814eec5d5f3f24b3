"""nbgrader's settings for every user's server on the course hub: students and the instructor.

Copy it to /etc/jupyter/nbgrader_config.py on the hub machine (a folder on every Jupyter
server's config path). It tells the Assignments tab where the exchange is and which course to
list. The instructor's course folder has its own nbgrader_config.py (written by
`python -m autograder init DIR --exchange /srv/nbgrader/exchange`) with the same two values.
"""

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# The same id as `python -m autograder init --course-id` (its default is this one).
c.CourseDirectory.course_id = "conv-from-scratch"

# The shared folder: root-owned, mode 777 (`sudo install -d -m 777 /srv/nbgrader/exchange`).
# Releases, submissions and feedback pass through it; nbgrader sets each file's permissions.
c.Exchange.root = "/srv/nbgrader/exchange"
