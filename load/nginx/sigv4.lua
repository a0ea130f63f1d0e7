-- AWS SigV4 request signer for nginx + lua-nginx-module: load/bench.sh's "nginx + Lua SigV4
-- signer" peer, the engine under Kong's and APISIX's aws-lambda plugins, written to be fair and
-- fast: SHA-256 and HMAC-SHA256 through LuaJIT FFI to OpenSSL's libcrypto (as OpenResty's own
-- resty.sha256 / resty.hmac do), hex through nginx's ngx_hex_dump, the derived signing key cached
-- per day, the x-amz-date string cached per second.
--
--   lua_package_path "<repo>/load/nginx/?.lua;;";
--   access_by_lua_block {
--     require("sigv4").sign("us-east-1", "lambda", "host:port", "AKID", "SECRET")
--   }
--   proxy_set_header Host host:port;   # the same host that was signed
--
-- sign() reads the whole request body, hashes it (x-amz-content-sha256) and signs method,
-- canonical URI (the path as received, encoded once more, as for every service but S3),
-- sorted query, host, x-amz-content-sha256 and x-amz-date; it sets Authorization, X-Amz-Date
-- and X-Amz-Content-Sha256 on the request that proxy_pass sends.
local ffi = require("ffi")
local C = ffi.C
local ffi_new, ffi_str = ffi.new, ffi.string
local ngx = ngx
local req = ngx.req
local concat, sort = table.concat, table.sort
local byte, find, format, gsub, sub = string.byte, string.find, string.format, string.gsub, string.sub

ffi.cdef [[
typedef struct evp_md_st EVP_MD;
typedef struct engine_st ENGINE;
const EVP_MD *EVP_sha256(void);
int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
               const EVP_MD *type, ENGINE *impl);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md, unsigned int *md_len);
unsigned char *ngx_hex_dump(unsigned char *dst, const unsigned char *src, size_t len);
]]

-- libcrypto is loaded by nginx itself (global symbols); load it by name only if it is not.
local crypto = C
if not pcall(function() return C.EVP_sha256 end) then
  crypto = ffi.load("libcrypto.so.3")
end
local SHA256 = crypto.EVP_sha256()
local md = ffi_new("unsigned char[32]")
local md_len = ffi_new("unsigned int[1]")
local hex_buf = ffi_new("unsigned char[64]")

local function sha256(s)
  if crypto.EVP_Digest(s, #s, md, md_len, SHA256, nil) ~= 1 then
    error("EVP_Digest failed")
  end
  return ffi_str(md, 32)
end

local function hmac(key, s)
  if crypto.HMAC(SHA256, key, #key, s, #s, md, md_len) == nil then
    error("HMAC failed")
  end
  return ffi_str(md, 32)
end

local function hex32(bin)
  C.ngx_hex_dump(hex_buf, bin, 32)
  return ffi_str(hex_buf, 64)
end

local EMPTY_SHA256 = hex32(sha256(""))

-- RFC 3986 encoding of everything but the unreserved characters (SigV4's UriEncode).
local function encode_char(c)
  return format("%%%02X", byte(c))
end
local function uri_encode(s, keep_slash)
  if keep_slash then
    return (gsub(s, "[^%w%-%._~/]", encode_char))
  end
  return (gsub(s, "[^%w%-%._~]", encode_char))
end

-- The canonical query: every name and value decoded, encoded strictly, sorted by name then value.
local function canonical_query(args)
  if args == nil or args == "" then
    return ""
  end
  local pairs_ = {}
  local n = 0
  for part in string.gmatch(args, "[^&]+") do
    local eq = find(part, "=", 1, true)
    local k, v
    if eq then
      k, v = sub(part, 1, eq - 1), sub(part, eq + 1)
    else
      k, v = part, ""
    end
    n = n + 1
    pairs_[n] = { uri_encode(ngx.unescape_uri(k)), uri_encode(ngx.unescape_uri(v)) }
  end
  sort(pairs_, function(a, b)
    if a[1] == b[1] then
      return a[2] < b[2]
    end
    return a[1] < b[1]
  end)
  local out = {}
  for i = 1, n do
    out[i] = pairs_[i][1] .. "=" .. pairs_[i][2]
  end
  return concat(out, "&")
end

-- Derived signing keys of the current day, by "secret/region/service" (four HMACs once a day).
local key_cache, key_cache_date = {}, nil
local function signing_key(secret, date, region, service)
  if date ~= key_cache_date then
    key_cache, key_cache_date = {}, date
  end
  local id = secret .. "/" .. region .. "/" .. service
  local k = key_cache[id]
  if k == nil then
    k = hmac(hmac(hmac(hmac("AWS4" .. secret, date), region), service), "aws4_request")
    key_cache[id] = k
  end
  return k
end

-- "yyyy-mm-dd hh:mm:ss" (ngx.utctime, cached by nginx per event-loop turn) -> "yyyymmddThhmmssZ".
local last_utc, last_amz, last_date
local function amz_date()
  local t = ngx.utctime()
  if t ~= last_utc then
    last_utc = t
    last_date = sub(t, 1, 4) .. sub(t, 6, 7) .. sub(t, 9, 10)
    last_amz = last_date .. "T" .. sub(t, 12, 13) .. sub(t, 15, 16) .. sub(t, 18, 19) .. "Z"
  end
  return last_amz, last_date
end

local function request_body()
  req.read_body()
  local body = req.get_body_data()
  if body then
    return body
  end
  local file = req.get_body_file()
  if not file then
    return ""
  end
  local f = assert(io.open(file, "rb"))
  body = f:read("*a")
  f:close()
  return body
end

local SIGNED_HEADERS = "host;x-amz-content-sha256;x-amz-date"

local _M = {}

function _M.sign(region, service, host, access_key, secret)
  local body = request_body()
  local payload_hash = body == "" and EMPTY_SHA256 or hex32(sha256(body))
  local amz, date = amz_date()

  local request_uri = ngx.var.request_uri
  local q = find(request_uri, "?", 1, true)
  local path, args = request_uri, nil
  if q then
    path, args = sub(request_uri, 1, q - 1), sub(request_uri, q + 1)
  end
  if path == "" then
    path = "/"
  end

  local canonical = concat({
    req.get_method(),
    uri_encode(path, true),
    canonical_query(args),
    "host:" .. host,
    "x-amz-content-sha256:" .. payload_hash,
    "x-amz-date:" .. amz,
    "",
    SIGNED_HEADERS,
    payload_hash,
  }, "\n")
  local scope = date .. "/" .. region .. "/" .. service .. "/aws4_request"
  local to_sign = "AWS4-HMAC-SHA256\n" .. amz .. "\n" .. scope .. "\n" .. hex32(sha256(canonical))
  local signature = hex32(hmac(signing_key(secret, date, region, service), to_sign))

  req.set_header("X-Amz-Date", amz)
  req.set_header("X-Amz-Content-Sha256", payload_hash)
  req.set_header("Authorization", "AWS4-HMAC-SHA256 Credential=" .. access_key .. "/" .. scope
    .. ", SignedHeaders=" .. SIGNED_HEADERS .. ", Signature=" .. signature)
end

return _M
