"""A lifecycle hook that asks for an argument the spec does not have."""

from launchbay import hookimpl


@hookimpl
def launchbay_job_started(job, colour):
    pass
