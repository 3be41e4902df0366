"""What a workload costs on a fixed-size or an autoscaling cluster.

``model`` holds the shared records (prices, traces, policies, outcomes), ``billing`` turns an
outcome into money, ``traces`` builds workloads (shapes in ``conf/trace``, or a user's run
history), ``simulate`` plays a trace under a policy as Ray's autoscaler would, ``replay`` plays
it on Ray's real autoscaler on a local cluster, and ``bench`` compares the policies;
``predictions`` prices past runs: per run, per 1,000 predictions and per model version.
"""
