-- For the probe services of the Lua tests: the names in package.loaded that start with "skynet.", sorted.
return function()
    local names = {}
    for name in pairs(package.loaded) do
        if name:sub(1, 7) == "skynet." then
            names[#names + 1] = name
        end
    end
    table.sort(names)
    return names
end
