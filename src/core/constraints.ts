/**
 * Limits swiftgate enforces, named and valued as Swift's `/info` "swift" section so
 * clients that read /info see exactly what the gateway checks.
 */
export interface Constraints {
  max_file_size: number;
  max_meta_name_length: number;
  max_meta_value_length: number;
  max_meta_count: number;
  max_meta_overall_size: number;
  max_header_size: number;
  max_object_name_length: number;
  container_listing_limit: number;
  account_listing_limit: number;
  max_account_name_length: number;
  max_container_name_length: number;
  extra_header_count: number;
}

export const DEFAULT_CONSTRAINTS: Readonly<Constraints> = Object.freeze({
  max_file_size: 5 * 1024 * 1024 * 1024 + 2, // Swift's 5 GiB + 2 bytes
  max_meta_name_length: 128,
  max_meta_value_length: 256,
  max_meta_count: 90,
  max_meta_overall_size: 4096,
  max_header_size: 8192,
  max_object_name_length: 1024,
  container_listing_limit: 10000,
  account_listing_limit: 10000,
  max_account_name_length: 256,
  max_container_name_length: 256,
  extra_header_count: 0,
});
