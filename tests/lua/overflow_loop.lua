-- Stack overflows caught in a loop: each costs ~1e7 budget units but ~0.6 s (a million frames
-- built and unwound), so the budget alone takes over a minute; the time limit stops it.
function run(s, p)
  while true do
    pcall(function()
      local function f() return 1 + f() end
      return f()
    end)
  end
end
