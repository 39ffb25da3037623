-- Wraps the real skynet.lua (found on package.path without this directory) and marks the module.
local rest = package.path:gsub("^[^;]*;", "")
local real = assert(package.searchpath("skynet", rest))
local skynet = assert(loadfile(real))("skynet", real)
skynet.own_copy = true
return skynet
