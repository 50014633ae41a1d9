-- A message handler that overflows the stack, in a loop (each error in the handler calls it
-- again, deeper, until Lua gives up with "error in error handling").
function run(s, p)
  while true do
    xpcall(function() error("x") end, function(e)
      local function g() return 1 + g() end
      return g()
    end)
  end
end
