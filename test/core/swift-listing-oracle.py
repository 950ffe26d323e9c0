#!/usr/bin/python3
"""Differential oracle: runs listings through a real OpenStack Swift broker.

stdin: JSON list of cases {"kind": "objects"|"containers", "names": [...],
"queries": [{"prefix", "delimiter", "marker", "end_marker", "limit", "reverse",
"path"}]}. stdout: JSON list (per case) of lists (per query) of [name, is_subdir].
Used by test/core/listing-property.test.ts to check the listing model against Swift.
"""
import json
import os
import shutil
import sys
import tempfile

from swift.account.backend import AccountBroker
from swift.common.utils import Timestamp
from swift.container.backend import ContainerBroker


def main():
    cases = json.load(sys.stdin)
    tmp = tempfile.mkdtemp(prefix='swift-oracle-')
    out = []
    try:
        ts = 1700000000.0
        for i, case in enumerate(cases):
            ts += 1
            t = Timestamp(ts).internal
            results = []
            if case['kind'] == 'objects':
                b = ContainerBroker(os.path.join(tmp, 'c%d.db' % i), account='a', container='c')
                b.initialize(t, 0)
                b.merge_items([{'name': n, 'created_at': t, 'size': 0, 'content_type': 'text/plain',
                                'etag': 'd41d8cd98f00b204e9800998ecf8427e', 'deleted': 0,
                                'storage_policy_index': 0} for n in case['names']])
                for q in case['queries']:
                    rows = b.list_objects_iter(q['limit'], q.get('marker') or '', q.get('end_marker') or '',
                                               q.get('prefix'), q.get('delimiter'), path=q.get('path'),
                                               reverse=bool(q.get('reverse')))
                    results.append([[r[0], r[3] is None] for r in rows])
            else:
                b = AccountBroker(os.path.join(tmp, 'a%d.db' % i), account='a')
                b.initialize(t)
                for n in case['names']:
                    b.put_container(n, t, 0, 0, 0, 0)
                for q in case['queries']:
                    rows = b.list_containers_iter(q['limit'], q.get('marker') or '', q.get('end_marker') or '',
                                                  q.get('prefix'), q.get('delimiter'),
                                                  reverse=bool(q.get('reverse')))
                    results.append([[r[0], r[4] == 1] for r in rows])
            out.append(results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
