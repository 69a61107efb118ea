"""The production settings plus one bare endpoint, for the check-in benchmark only (never deployed).

``bench.bare_urls`` serves the application's URLs and ``/bench/bare``: a view that returns ``HttpResponse("ok")`` through
the same middleware stack, so the benchmark compares the check-in with the cost of Django itself on the same server.
"""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
