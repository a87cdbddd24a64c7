#include "ingest_change.hpp"

namespace ing {

size_t dids_to_intern(const JetstreamEvent &ev, std::string_view out[kMaxEventDids]) {
    if (ev.verdict != Verdict::kApply)
        return 0;
    if (ev.kind == EventKind::kAccount) {
        out[0] = ev.did;
        return 1;
    }
    if (ev.kind != EventKind::kCommit || ev.op == CommitOp::kDelete)
        return 0;
    size_t n = 0;
    out[n++] = ev.did;
    switch (ev.collection) {
        case Collection::kFollow:
        case Collection::kBlock:
            out[n++] = ev.subject;
            break;
        case Collection::kPost:
            if (!ev.reply_root.empty()) {
                out[n++] = ev.reply_root;
                out[n++] = ev.reply_parent;
            }
            break;
        case Collection::kRepost:
        case Collection::kListBlock:
            out[n++] = ev.target.did;
            break;
        case Collection::kListItem:
            out[n++] = ev.target.did;
            out[n++] = ev.subject;
            break;
        case Collection::kList:
        case Collection::kOther:
            break;
    }
    return n;
}

Change to_change(const JetstreamEvent &ev, int64_t created_at, UidOf uid_of, void *ctx) {
    Change c;
    c.repo = uid_of(ctx, ev.did);
    c.created_at = created_at;
    if (ev.kind == EventKind::kAccount) {
        c.account = true;
        c.active = ev.active;
        c.status = ev.status;
        return c;
    }
    c.op = ev.op;
    c.coll = ev.collection;
    c.rkey = ev.rkey;
    if (ev.op == CommitOp::kDelete)
        return c;
    c.cid = ev.cid;
    c.purpose = ev.purpose;
    c.quote = ev.quote;
    c.media = ev.media;
    auto uid = [&](std::string_view did) { return did.empty() ? Uid(0) : uid_of(ctx, did); };
    c.subject = uid(ev.subject);
    c.target = uid(ev.target.did);
    c.target_rkey = ev.target.rkey;
    c.reply_root = uid(ev.reply_root);
    c.reply_parent = uid(ev.reply_parent);
    return c;
}

}  // namespace ing
