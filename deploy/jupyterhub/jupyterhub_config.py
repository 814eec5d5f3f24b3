"""JupyterHub for one class of "Convolution, from scratch" on one Linux machine.

Students and the instructor log in with their unix accounts (PAM); each gets their own JupyterLab,
started as that unix user in their home folder, with nbgrader's Assignments tab. Assignments,
submissions and feedback pass through nbgrader's exchange folder (nbgrader_config.py beside this
file says where it is). tests/test_jupyterhub.py runs this file, unchanged, with a real hub,
real unix users and Chromium.

Set up once, as root, on the hub machine (the course's Python environment in /opt/conv here):

    git clone <this repository> /opt/conv && cd /opt/conv && python3 tasks.py setup
        # .venv with the course, JupyterHub, and configurable-http-proxy in .venv/node_modules;
        # use a python3 every user may run (the system's, not one in root's home folder)
    install -d -m 777 /srv/nbgrader/exchange          # nbgrader's exchange
    install -d -m 700 /srv/jupyterhub                 # the hub's database and cookie secret
    install -D -m 644 deploy/jupyterhub/nbgrader_config.py /etc/jupyter/nbgrader_config.py
    groupadd conv-course
    useradd -m -G conv-course teacher; passwd teacher  # the instructor (see INSTRUCTORS)
    useradd -m -G conv-course alice;   passwd alice    # one per student
    /opt/conv/.venv/bin/jupyterhub -f /opt/conv/deploy/jupyterhub/jupyterhub_config.py

Then, as the instructor (a terminal in their JupyterLab, or ssh):

    python -m autograder init ~/conv-fall --exchange /srv/nbgrader/exchange
    python -m autograder release 02_conv2d --course ~/conv-fall   # students can Fetch it
    python -m autograder collect 02_conv2d --course ~/conv-fall --exchange
    python -m autograder grade 02_conv2d --course ~/conv-fall      # see docs/deployment.md
    python -m autograder feedback 02_conv2d --course ~/conv-fall   # students can Fetch Feedback

The hub must run as root: it starts every user's server as that user (LocalProcessSpawner).
It serves plain HTTP on port 8000: put it behind an HTTPS reverse proxy, or set
c.JupyterHub.ssl_cert / ssl_key. Users share the machine's memory and CPU with no limits
(SystemdSpawner or DockerSpawner add them).
"""

import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when JupyterHub loads this file)

COURSE_GROUP = "conv-course"  # the unix group whose members may log in
INSTRUCTORS = {"teacher"}  # hub admins: the formgrader, and any student's server from /hub/admin
STATE = "/srv/jupyterhub"  # the hub's own files (not the course's)

c.JupyterHub.bind_url = "http://:8000"
c.JupyterHub.db_url = f"sqlite:///{STATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{STATE}/jupyterhub_cookie_secret"
c.ConfigurableHTTPProxy.pid_file = f"{STATE}/jupyterhub-proxy.pid"
# `tasks.py setup` installs configurable-http-proxy next to the hub's Python (npm --prefix .venv).
_proxy = os.path.join(sys.prefix, "node_modules", ".bin", "configurable-http-proxy")
if os.path.exists(_proxy):
    c.ConfigurableHTTPProxy.command = [_proxy]

# Unix accounts, checked by PAM. Only members of the course group get in; nobody is created.
c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
c.PAMAuthenticator.allowed_groups = {COURSE_GROUP}
c.Authenticator.admin_users = INSTRUCTORS
c.PAMAuthenticator.create_system_users = False

# Each user's JupyterLab, as that user, from the same Python environment as the hub, so the
# nbgrader server and lab extensions (Assignments tab, Formgrader) are the ones installed there.
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"  # fetched assignments land in the home folder
# Students get the Assignments tab and Validate only: their servers also read students/ (before
# /etc/jupyter), which turns off the Formgrader, Create Assignment and Course List extensions.
HERE = os.path.dirname(os.path.abspath(__file__))


def _jupyter_config_path(spawner):
    return "" if spawner.user.admin else os.path.join(HERE, "students")


c.Spawner.environment = {"JUPYTER_CONFIG_PATH": _jupyter_config_path}
c.Spawner.start_timeout = 180  # JupyterLab takes a while on a busy small machine
c.Spawner.http_timeout = 180
