"""JavaScript prelude of every view context: emit, the 2.x helpers and the batch drivers.

It ends by making ``Object.prototype`` non-extensible: no view function can add a getter
or a method that every document would inherit, so what one map does to the prototype
cannot change what another map (or a later batch) sees, and documents cut down to the
members the maps read (:mod:`.map_reads`) behave exactly as whole ones.
"""

_SOURCE = r"""
var __kv = null;
var __at = null;
var __docText = "0";
var __viewText = "0";
var __emits = 0;
var __maps = [];
var __reduces = {};
var __state = null;
var __numbers = "@NUMBERS@".split(",");
// QuickJS throws null when it runs out of memory so close to the limit that even the
// InternalError object cannot be made; a map throwing null itself looks the same.
var __NULL_THROWN = "map function stopped: InternalError: out of memory (or it threw null)";

function emit(key, value) {
  var n = __emits++;
  __kv.push(key === undefined ? null : key, value === undefined ? null : value);
  __at.push(__docText, __viewText, n < 2000 ? __numbers[n] : String(n));
}

function sum(values) {
  var total = 0;
  for (var i = 0; i < values.length; i++) total += values[i];
  return total;
}

function dateToArray(date) {
  var d = new Date(date);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(),
          d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
}

function decodeBase64(text) {
  var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  var out = "", bits = 0, count = 0;
  for (var i = 0; i < text.length; i++) {
    var index = alphabet.indexOf(text.charAt(i));
    if (index < 0) continue;
    bits = (bits << 6) | index;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += String.fromCharCode((bits >> count) & 0xff);
    }
  }
  return out;
}

function __fatal(e) {
  return e instanceof InternalError;
}

// One flat string: QuickJS-ng keeps a concatenation as a rope string, which its Python
// wrapper cannot hand back; a join is flat.
function __result() {
  var state = __state;
  return [JSON.stringify([state.position, __kv, state.errors, state.notJson]),
          __at.join(",")].join("\x1e");
}

function __mapBatch(texts, idsText, seqText, revHex, expirationsJson, flagsJson, kinds,
                    fullMeta) {
  var docs = texts.split("\x1e");
  var ids = idsText.charCodeAt(0) === 30 ? idsText.split("\x1e").slice(1) : JSON.parse(idsText);
  var seqnos = seqText.split(",");
  var expirations = JSON.parse(expirationsJson), flags = JSON.parse(flagsJson);
  var oneExpiration = typeof expirations === "number", oneFlags = typeof flags === "number";
  var kv = __kv = [], at = __at = [];
  var state = __state = {position: 0, errors: [], notJson: []};
  var maps = __maps;
  for (var i = 0; i < docs.length; i++) {
    var isJson = kinds.charCodeAt(i) === 106, doc = docs[i];
    state.position = i;
    if (isJson) {
      try {
        doc = JSON.parse(doc);
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e === null ? new InternalError("out of memory") : e;
        state.notJson.push(i);
        continue;
      }
    }
    var type = isJson ? "json" : "base64";
    var meta = fullMeta ? {id: ids[i], rev: seqnos[i] + "-" + revHex.substr(32 * i, 32),
                           flags: oneFlags ? flags : flags[i],
                           expiration: oneExpiration ? expirations : expirations[i],
                           type: type}
                        : {id: ids[i], type: type};
    __docText = i < 2000 ? __numbers[i] : String(i);
    for (var v = 0; v < maps.length; v++) {
      var kvMark = kv.length, atMark = at.length;
      __viewText = v < 2000 ? __numbers[v] : String(v);
      __emits = 0;
      try {
        maps[v](doc, meta);
      } catch (e) {
        if (__fatal(e)) throw e;
        kv.length = kvMark;
        at.length = atMark;
        state.errors.push([i, v, e === null ? __NULL_THROWN : String(e)]);
      }
    }
  }
  state.position = docs.length;
  var out = __result();
  __kv = __at = __state = null;
  return out;
}

function __reduce(view, keysJson, valuesJson, rereduce) {
  var result = __reduces[view](JSON.parse(keysJson), JSON.parse(valuesJson), rereduce);
  return JSON.stringify([result === undefined ? null : result]);
}

Object.preventExtensions(Object.prototype);
"""

#: The decimal texts of 0 to 1999 (document, view and emit numbers of a batch), split from
#: one literal: a third faster to set up than 2,000 ``String(n)`` calls per context.
PRELUDE = _SOURCE.replace("@NUMBERS@", ",".join(map(str, range(2000))))
