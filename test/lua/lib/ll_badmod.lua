-- Helper module for the lualib tests: fails while loading, after blocking.
local skynet = require "skynet"
skynet.sleep(1)
error("ll_badmod fails on purpose")
