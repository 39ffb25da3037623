// The one translation unit that holds doctest's runner; every other file in test/unit only has TEST_CASEs.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
