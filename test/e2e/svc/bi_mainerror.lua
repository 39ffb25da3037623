-- Its main chunk raises (test/e2e/test_bad_input.py).
error("bi_mainerror: main chunk failure")
