-- Spins forever without committing: the instruction budget must stop it.
params = {}
function run(s, p)
  local x = 0
  while true do
    x = x + 1
  end
end
