# PGXS build of the dataplane extension.
#
#   make && make install     build and install into the PostgreSQL that
#                            pg_config names (PG_CONFIG=... for another)
#   make installcheck        the regress (sql/, expected/) and isolation
#                            (specs/) suites against a running server, then
#                            the TAP tests (t/) as prove_installcheck does
#                            (TAP_TESTS= skips them)
#   make prove_installcheck  the TAP tests alone (PROVE_TESTS='t/003_*.pl'
#                            for some); each starts clusters of its own
#
# The server that installcheck uses must be started by you, with the
# extension installed and, in its postgresql.conf:
#   shared_preload_libraries = 'dataplane'
#   dataplane.database = 'contrib_regression'   # TEST_DB below (keep it:
#                                               # 001_install reconnects
#                                               # to it by that name)
#   dataplane.memory_limit = 64MB               # 004_admin checks it
#   max_prepared_transactions = 4               # 003_bad_input prepares
# and a database TEST_DB (created by installcheck when missing: psql and
# createdb reach the server through PGHOST, PGPORT, PGUSER as usual; a
# superuser). The tests drop and create the extension in that database and
# leave their objects behind: give them a database of their own.
# The TAP tests need only the installed extension (and, like PostgreSQL's,
# a user that is not root, and a checkout it can write tmp_check/ into).
# scripts/test.sh does all of this with throwaway clusters.
#
# DP_EXTRA_CXXFLAGS adds compiler flags: CI builds with
# DP_EXTRA_CXXFLAGS=-Werror.
EXTENSION = dataplane
EXTVERSION = 0.2.0

MODULE_big = dataplane
OBJS = $(patsubst %.cpp,%.o,$(sort $(wildcard src/core/*.cpp src/ingest/*.cpp src/pg/*.cpp)))

# The install script and the upgrade from 0.1.0 are assembled from the
# parts in sql/parts/, so that what both must create is written once.
INSTALL_PARTS = $(addprefix sql/parts/,install_head.sql refs.sql capture_install.sql \
	functions.sql status.sql v0_2.sql capture_moderation.sql moderation_functions.sql \
	timeline_functions.sql skeletons.sql internal_acl.sql)
UPGRADE_PARTS = $(addprefix sql/parts/,upgrade_0.1.0_head.sql refs.sql capture_upgrade.sql \
	status_upgrade.sql status.sql v0_2.sql capture_moderation.sql moderation_functions.sql \
	timeline_upgrade.sql timeline_functions.sql skeletons.sql upgrade_acl_tail.sql \
	internal_acl.sql)
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql
# The first release's install script, kept to test upgrades from it.
DATA = sql/$(EXTENSION)--0.1.0.sql
EXTRA_CLEAN = $(DATA_built)

PG_CONFIG ?= pg_config
PG_INCLUDE_SERVER := $(shell $(PG_CONFIG) --includedir-server)

# PostgreSQL's headers are system headers for us: -Wextra applies to our
# code only.
PG_CPPFLAGS = -I$(srcdir)/src/core -I$(srcdir)/src/ingest -I$(srcdir)/src/pg \
	-isystem $(PG_INCLUDE_SERVER)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-register -fvisibility=hidden -O2 $(DP_EXTRA_CXXFLAGS)
# simdjson parses Jetstream events (src/ingest); libwebsockets is the live
# consumer's client.
SHLIB_LINK = -lroaring -lsimdjson -lwebsockets -lstdc++ -Wl,-Bsymbolic

# C++ gains nothing from JIT inlining, and the bitcode would be compiled by a
# second compiler with other flags: build none.
override with_llvm = no

# Tests: every sql/*.sql but the install script, every spec, every t/*.pl.
# The regress tests load sql/include/dptest.psql through PG_ABS_SRCDIR,
# which pg_regress sets to its --inputdir: PGXS passes $(srcdir), which
# holds sql/ and expected/.
REGRESS = $(patsubst sql/%.sql,%,$(filter-out sql/$(EXTENSION)%,$(sort $(wildcard sql/*.sql))))
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
# Both suites run in the one database the index serves (dataplane.database),
# which pg_regress must not drop: --use-existing, created by dp_testdb.
TEST_DB ?= contrib_regression
REGRESS_OPTS = --use-existing
ISOLATION_OPTS = --use-existing
REGRESS_PREP = dp_testdb
TAP_TESTS = 1

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS names its own databases (contrib_regression, isolation_regression)
# in --dbname: both suites use TEST_DB.
CONTRIB_TESTDB = $(TEST_DB)
ISOLATION_TESTDB = $(TEST_DB)

# The TAP tests alone. PGXS defines the recipe (prove_installcheck, which
# installcheck runs too) but no target of that name.
.PHONY: prove_installcheck
prove_installcheck:
	$(prove_installcheck)

# The TAP tests' shared module, t/DataplaneTest.pm: PGXS puts only its own
# src/test/perl and $(srcdir) on prove's include path.
PG_PROVE_FLAGS += -I $(srcdir)/t

.PHONY: dp_testdb
dp_testdb:
	@$(bindir)/psql -X -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$(TEST_DB)'" | grep -q 1 || \
		$(bindir)/createdb $(TEST_DB)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS)
	cat $^ > $@

sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql: $(UPGRADE_PARTS)
	cat $^ > $@


# PGXS tracks no header dependencies: a header change must rebuild every
# object, or objects compiled against an older shared-memory layout would
# write to the wrong offsets.
$(OBJS): $(wildcard src/core/*.hpp src/ingest/*.hpp src/pg/*.hpp)
