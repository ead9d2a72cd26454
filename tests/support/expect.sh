# Assertions for the shell-driven end-to-end tests; source it, then end with report_failures.
# Each assertion prints "ok   NAME" or "FAIL NAME: why" and counts failures.
failures=0

# expect_fail NAME REGEX CMD...: CMD exits non-zero and its output matches REGEX.
expect_fail() {
  local name="$1" regex="$2"
  shift 2
  local out
  if out="$("$@" 2>&1)"; then
    echo "FAIL $name: exited 0"; failures=$((failures + 1)); return
  fi
  if ! grep -Eq "$regex" <<<"$out"; then
    echo "FAIL $name: output does not match /$regex/:"; echo "$out" | head -5; failures=$((failures + 1)); return
  fi
  echo "ok   $name"
}

# expect_ok NAME CMD...: CMD exits 0.
expect_ok() {
  local name="$1"
  shift
  local out
  if ! out="$("$@" 2>&1)"; then
    echo "FAIL $name:"; echo "$out" | tail -5; failures=$((failures + 1)); return
  fi
  echo "ok   $name"
}

check_py() {  # check_py NAME PYTHON_CODE
  expect_ok "$1" /usr/bin/python3 -c "$2"
}
