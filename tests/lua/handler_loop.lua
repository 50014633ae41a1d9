-- The message handler never returns. Lua runs a handler before unwinding, so once the budget
-- error is raised from the instruction hook the handler would run again with hooks off: the
-- host must not run it for its own stop.
function run(s, p)
  xpcall(function() error("x") end, function(e)
    while true do end
  end)
end
