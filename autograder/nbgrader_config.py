"""nbgrader configuration for this repository used as a course folder.

solutions/<assignment>/ is nbgrader's source folder (the instructor notebooks, the one place content
is edited) and notebooks/<assignment>/ its release folder (the student notebooks, generated).
"""

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "conv-from-scratch"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Student notebooks must never carry hidden tests or outputs.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
