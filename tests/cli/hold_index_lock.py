"""A neighbour that holds a store's index write lock: opens STORE/index with liblmdb
(through ctypes: no Python binding needed) and keeps a write transaction open for
SECONDS or until a line (or EOF) comes on stdin, so a spill writing to that store stalls
in its LMDB commit, as it would behind a busy `spill gc` or a slow disk. Prints "locked"
when it holds the lock.
usage: hold_index_lock.py STORE SECONDS"""
import ctypes, ctypes.util, select, sys

lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")
env, txn = ctypes.c_void_p(), ctypes.c_void_p()
MDB_NOTLS = 0x200000
rc = lib.mdb_env_create(ctypes.byref(env))
rc = rc or lib.mdb_env_set_maxdbs(env, 8)
rc = rc or lib.mdb_env_set_maxreaders(env, 512)
rc = rc or lib.mdb_env_open(env, (sys.argv[1] + "/index").encode(), MDB_NOTLS, 0o600)
rc = rc or lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn))
if rc:
    lib.mdb_strerror.restype = ctypes.c_char_p
    sys.exit("hold_index_lock: %s" % lib.mdb_strerror(rc).decode())
print("locked", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))
lib.mdb_txn_abort(txn)
lib.mdb_env_close(env)
