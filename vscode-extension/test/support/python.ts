/** The interpreter with pydbg installed that the tests run against: PYDBG_PYTHON. */
export function pydbgPython(): string {
  const python = process.env.PYDBG_PYTHON;
  if (!python) throw new Error("set PYDBG_PYTHON to a Python 3.12+ that has pydbg installed");
  return python;
}
