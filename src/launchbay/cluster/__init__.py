"""Ray clusters on this machine: a head and worker raylets (fixed size, or grown and shrunk
by Ray's autoscaler), started in a process session of their own and stopped by it.

``record`` is where a running cluster's addresses are kept (so ``launchbay submit`` and
``runtime=cluster`` find it), ``local`` starts and stops one, ``supervisor`` is the process
that owns its nodes, ``autoscaling`` writes the autoscaler's config in code.
"""
