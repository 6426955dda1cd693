"""Queue jobs: submit, the job handle, and the one polling scheduler that waits for them all.

Pure: ``job_state`` (one job's answers -> decisions: the interpreter the scheduler drives),
``schedule`` (when each job is polled next, learned per endpoint) and ``budget`` (the global
poll rate).  Shell: ``resource`` (``client.queue``), ``jobs`` (``Job``), ``scheduler`` (the one
polling task per client and the one wait), ``history`` (durations kept between processes).
"""
