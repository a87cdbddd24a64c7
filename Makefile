# PGXS build of the dataplane extension.
#
#   make && make install     build and install into the PostgreSQL that
#                            pg_config names
#   make installcheck        pg_regress, isolation and TAP tests against a
#                            running server (scripts/test.sh sets one up)
EXTENSION = dataplane
EXTVERSION = 0.2.0

MODULE_big = dataplane
OBJS = $(patsubst %.cpp,%.o,$(sort $(wildcard src/core/*.cpp src/ingest/*.cpp src/pg/*.cpp)))

# The install script and the upgrade from 0.1.0 are assembled from the
# parts in sql/parts/, so that what both must create is written once.
INSTALL_PARTS = $(addprefix sql/parts/,install_head.sql refs.sql capture_install.sql \
	functions.sql status.sql v0_2.sql)
UPGRADE_PARTS = $(addprefix sql/parts/,upgrade_0.1.0_head.sql refs.sql capture_upgrade.sql \
	status_upgrade.sql status.sql v0_2.sql)
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
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-register -fvisibility=hidden -O2
# simdjson parses Jetstream events (src/ingest); libwebsockets is the live
# consumer's client.
SHLIB_LINK = -lroaring -lsimdjson -lwebsockets -lstdc++ -Wl,-Bsymbolic

# C++ gains nothing from JIT inlining, and the bitcode would be compiled by a
# second compiler with other flags: build none.
override with_llvm = no

# Tests: every sql/*.sql but the install script, every spec, every t/*.pl.
REGRESS = $(patsubst sql/%.sql,%,$(filter-out sql/$(EXTENSION)%,$(sort $(wildcard sql/*.sql))))
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
TEST_DB ?= contrib_regression
REGRESS_OPTS = --dbname=$(TEST_DB) --use-existing
ISOLATION_OPTS = --dbname=$(TEST_DB) --use-existing
TAP_TESTS = 1

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS)
	cat $^ > $@

sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql: $(UPGRADE_PARTS)
	cat $^ > $@

# PGXS tracks no header dependencies: a header change must rebuild every
# object, or objects compiled against an older shared-memory layout would
# write to the wrong offsets.
$(OBJS): $(wildcard src/core/*.hpp src/ingest/*.hpp src/pg/*.hpp)
