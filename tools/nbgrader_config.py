"""nbgrader configuration for grading this course's notebooks on JupyterHub.

Copy this file to the root of your nbgrader course directory (next to source/). The
course's graded cells print a failure and carry on when a learner presses "Run all"; under
a grader they must raise instead, so that nbgrader sees the failed cell and scores it 0.
The notebook kernels nbgrader starts inherit this environment variable.
"""

import os

os.environ["ATTENTION_SELF_CHECK"] = "raise"

c = get_config()  # noqa: F821 - nbgrader provides get_config when it loads this file
c.CourseDirectory.course_id = "attention-from-scratch"
c.CourseDirectory.root = "."
# A graded cell runs well under a second; a notebook under a minute. Stop runaway code.
c.ExecutePreprocessor.timeout = 120
