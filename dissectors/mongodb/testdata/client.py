# Made testdata/ferretdb.pcap: Debian python3-pymongo 3.11 against FerretDB v1.24.2
# (ferretdb --handler=sqlite --listen-addr=127.0.0.1:3717 --telemetry=disable) while
# `tcpdump -i lo -w ferretdb.pcap port 3717` captured.
# A pymongo 3.11 (Debian) session against FerretDB: ok commands and errors.
import pymongo, sys
from pymongo.errors import PyMongoError
c = pymongo.MongoClient("mongodb://127.0.0.1:3717/", serverSelectionTimeoutMS=3000, heartbeatFrequencyMS=60000, appname="tapflow-test")
db = c.shop
def run(name, f):
    try:
        r = f()
        print(name, "ok", r if not hasattr(r, "__iter__") or isinstance(r, dict) else list(r))
    except PyMongoError as e:
        print(name, "error", type(e).__name__, getattr(e, "code", None), e)
run("drop", lambda: db.users.drop())
run("insert_many", lambda: db.users.insert_many([{"_id": i, "name": "user%d" % i, "age": 20 + i, "score": 1.5 * i, "tags": ["a", "b"], "active": i % 2 == 0, "nick": None} for i in range(5)]).inserted_ids)
run("insert_dup", lambda: db.users.insert_one({"_id": 1, "name": "dup"}))
run("find", lambda: list(db.users.find({"age": {"$gt": 21}}, {"name": 1}).sort("age", 1).limit(2)))
run("find_batch", lambda: list(db.users.find({}, batch_size=2)))
run("count", lambda: db.users.count_documents({"active": True}))
run("update", lambda: db.users.update_one({"_id": 2}, {"$set": {"age": 99}}).modified_count)
run("bad_query", lambda: list(db.users.find({"age": {"$foo": 1}})))
run("unknown_cmd", lambda: db.command("frobnicate", 1))
run("drop_missing", lambda: db.command("drop", "nosuchcollection"))
run("rename_missing", lambda: db.nosuch.rename("other"))
run("delete", lambda: db.users.delete_many({"age": {"$gte": 99}}).deleted_count)
run("aggregate", lambda: list(db.users.aggregate([{"$match": {"active": True}}, {"$group": {"_id": None, "n": {"$sum": 1}}}])))
c.close()
