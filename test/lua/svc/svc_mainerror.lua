-- The main chunk raises: the launch must fail.
error("svc_mainerror: main chunk failure")
