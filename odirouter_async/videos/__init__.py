"""``client.videos``: ``POST /v1/videos`` (multipart, Sora-style), waits and downloads.

Pure: ``video_state`` (the video interpreter, the same contract as ``queue.job_state.JobPoll``).
Shell: ``resource``.
"""
