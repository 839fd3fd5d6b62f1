#include "agent/api/tls_fingerprint.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <memory>
#include <stdexcept>

namespace vigil::agent {

namespace {

std::string base64url(const unsigned char* data, std::size_t size) {
  const std::size_t cap = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string out(cap, '\0');
  sodium_bin2base64(out.data(), cap, data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(cap - 1);
  return out;
}

}  // namespace

std::string certificate_sha256_der(std::string_view der) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(der.data()), der.size());
  return base64url(digest, sizeof digest);
}

std::string certificate_sha256_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) throw std::invalid_argument("cannot read the certificate");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) throw std::invalid_argument("no PEM certificate found");
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert.get(), &der);
  if (len <= 0) throw std::invalid_argument("cannot encode the certificate");
  std::string out =
      certificate_sha256_der(std::string_view(reinterpret_cast<const char*>(der), len));
  OPENSSL_free(der);
  return out;
}

}  // namespace vigil::agent
