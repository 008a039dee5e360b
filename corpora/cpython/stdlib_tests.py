# Several stdlib modules' own tests (Debian's libpython3.11-testsuite) as
# one workload: `obcheck cpython mirror corpora/cpython/stdlib_tests.py
# [test.test_x ...]`.  Exits 1 if a test fails.
import sys
import unittest

names = sys.argv[1:] or ["test.test_re", "test.test_textwrap", "test.test_dict",
                         "test.test_difflib", "test.test_set", "test.test_long"]
suite = unittest.defaultTestLoader.loadTestsFromNames(names)
result = unittest.TextTestRunner(verbosity=0).run(suite)
sys.exit(0 if result.wasSuccessful() else 1)
