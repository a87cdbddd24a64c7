#!/usr/bin/env python3
"""Prints the permutation lines of the isolation specs that list "every
interleaving" of two sessions whose steps can wait for each other's locks.

isolationtester cannot run a permutation in which a session is asked for its
next step while its previous step still waits for a lock (it waits for it
until PGISOLATIONTIMEOUT, then gives up on the whole spec), so such specs
must list the runnable interleavings themselves. This script enumerates all
interleavings of two sessions' steps (each session: its operations, then
COMMIT 'c' or ROLLBACK 'a') and keeps those in which no session is asked for
a step while it waits, by simulating the waits:

  same_edge   two READ COMMITTED sessions that follow ('f': INSERT ... ON
              CONFLICT DO NOTHING) and unfollow ('u': DELETE) one edge: the
              unique-index check and the delete's row lock on the one key
              (follow_same_edge, follow_same_edge_txn, follow_reader).
  one_lock    each session has one operation, and whichever runs second
              waits for the other's transaction to end (follow_actor_delete,
              follow_update_key, follow_truncate).
  free        the sessions never wait for each other (they change different
              rows): every interleaving runs (timeline_post_delete,
              timeline_follow_post, timeline_unfollow_post). A reader step
              may follow every step.

Usage:
  python3 specs/permutations.py same_edge OPS1 OPS2 absent|present [reader]
      e.g. same_edge f u absent      (s1 follows, s2 unfollows)
           same_edge fu uf present   (s1 follows then unfollows, ...)
      'present' prefixes s0f (the edge exists at the start); 'reader' puts
      s3r after every step.
  python3 specs/permutations.py one_lock STEP1 STEP2
      e.g. one_lock s1f s2d2
  python3 specs/permutations.py free STEP1 STEP2 [READER]
      e.g. free s1p s2d s3r
Step names printed are s1<op>, s2<op>, s1c, s1a, s2c, s2a (as in the specs).
"""
import itertools
import sys

ENDS = ('cc', 'ca', 'ac', 'aa')


def interleavings(a, b):
    n = len(a) + len(b)
    for pos in itertools.combinations(range(n), len(a)):
        out, i, j = [], 0, 0
        for p in range(n):
            if p in pos:
                out.append(a[i])
                i += 1
            else:
                out.append(b[j])
                j += 1
        yield out


class EdgeSim:
    """Row versions of one unique key under READ COMMITTED."""

    def __init__(self, present):
        self.t = [dict(xmin='C', xmax=None)] if present else []  # 'C': committed before
        self.status = {'s1': 'run', 's2': 'run'}
        self.snap = {}

    def st(self, x):
        if x is None or x == 'C':
            return x
        return {'run': 'run', 'c': 'C', 'a': 'A'}[self.status[x]]

    def op(self, me, kind):
        """Runs (or resumes) an operation; returns the session waited for, or None."""
        if kind in 'ca':
            self.status[me] = kind
            return None
        if kind == 'f':  # unique check with a dirty snapshot, retried from scratch
            for t in self.t:
                xs = self.st(t['xmin'])
                if xs == 'A':
                    continue
                if xs == 'run' and t['xmin'] != me:
                    return t['xmin']
                ms = self.st(t['xmax'])
                if t['xmax'] is None or ms == 'A':
                    return None  # conflict: DO NOTHING
                if t['xmax'] == me or ms == 'C':
                    continue
                return t['xmax']
            self.t.append(dict(xmin=me, xmax=None))
            return None
        if kind == 'u':  # rows visible to the statement's snapshot, kept while it waits
            if me not in self.snap:
                self.snap[me] = [t for t in self.t
                                 if self.st(t['xmin']) == 'C' or t['xmin'] == me]
            for t in self.snap[me]:
                ms = self.st(t['xmax'])
                if t['xmax'] is None or ms == 'A':
                    t['xmax'] = me
                elif t['xmax'] == me or ms == 'C':
                    continue
                else:
                    return t['xmax']
            del self.snap[me]
            return None
        raise ValueError(kind)


class FreeSim:
    """No waits at all."""

    def __init__(self, _present=False):
        self.status = {'s1': 'run', 's2': 'run'}

    def op(self, me, kind):
        if kind in 'ca':
            self.status[me] = kind
        return None


class OneLockSim:
    """One operation per session; the second one waits for the first's end."""

    def __init__(self, _present=False):
        self.status = {'s1': 'run', 's2': 'run'}
        self.done = set()

    def op(self, me, kind):
        if kind in 'ca':
            self.status[me] = kind
            return None
        other = 's2' if me == 's1' else 's1'
        if other in self.done and self.status[other] == 'run':
            return other
        self.done.add(me)
        return None


def runnable(sim, perm):
    waiting = {}
    for x, k in perm:
        if x in waiting:
            return False
        w = sim.op(x, k)
        if w is not None:
            waiting[x] = (k, w)
        changed = True
        while changed:
            changed = False
            for y, (yk, yw) in list(waiting.items()):
                if sim.status[yw] != 'run':
                    del waiting[y]
                    w2 = sim.op(y, yk)
                    if w2 is not None:
                        waiting[y] = (yk, w2)
                    else:
                        changed = True
    return not waiting


def permutations(simclass, ops1, ops2, present=False):
    out = []
    for e in ENDS:
        a = [('s1', k) for k in ops1 + [e[0]]]
        b = [('s2', k) for k in ops2 + [e[1]]]
        for p in interleavings(a, b):
            if runnable(simclass(present), p):
                out.append(p)
    return out


def main(argv):
    if len(argv) >= 5 and argv[1] == 'same_edge':
        present = argv[4] == 'present'
        reader = len(argv) > 5 and argv[5] == 'reader'
        for p in permutations(EdgeSim, list(argv[2]), list(argv[3]), present):
            steps = (['s0f'] if present else []) + [x + k for x, k in p]
            if reader:
                steps = [s for st in steps for s in (st, 's3r')]
            print('permutation ' + ' '.join(steps))
    elif len(argv) == 4 and argv[1] == 'one_lock':
        n1, n2 = argv[2], argv[3]
        for p in permutations(OneLockSim, ['X'], ['Y']):
            names = {('s1', 'X'): n1, ('s2', 'Y'): n2}
            print('permutation ' + ' '.join(names.get((x, k), x + k) for x, k in p))
    elif len(argv) in (4, 5) and argv[1] == 'free':
        n1, n2 = argv[2], argv[3]
        reader = argv[4] if len(argv) == 5 else None
        for p in permutations(FreeSim, ['X'], ['Y']):
            names = {('s1', 'X'): n1, ('s2', 'Y'): n2}
            steps = [names.get((x, k), x + k) for x, k in p]
            if reader:
                steps = [s for st in steps for s in (st, reader)]
            print('permutation ' + ' '.join(steps))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
