"""Pages of 联 link, one module per subject; each module exports ``urlpatterns``."""
